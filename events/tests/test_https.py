"""Deliveries over HTTPS, tried in this process against a TLS receiver on loopback whose
certificate a throwaway CA signed: the CA is trusted as a worker would trust it, through
``SSL_CERT_FILE``; a certificate that is not trusted, or is for another host name, fails the
attempt with the TLS error, and the delivery is tried again."""

import socket
import ssl

import pytest
from standardwebhooks.webhooks import Webhook

from events import services, transport
from events.models import Delivery, DeliveryAttempt
from events.tests.receiver import receiver, run_ready_tasks
from events.tests.test_delivery import emit_and_dispatch, make_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def trust_the_ca(certificates, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca))


def test_a_delivery_over_https_arrives_and_its_signature_verifies(certificates, trust_the_ca):
    with receiver(certificate=certificates.localhost) as hook:
        assert hook.url.startswith("https://localhost:")
        endpoint = services.endpoint_create(url=hook.url, events=["*"])
        event = emit_and_dispatch(data={"number": "SO-1"})
        run_ready_tasks()

    [request] = hook.requests
    body = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert (body["id"], body["data"]) == (str(event.uuid), {"number": "SO-1"})
    # Connected to the checked address, the host name was still sent (SNI) and checked.
    assert hook.server_names == ["localhost"]
    assert request.headers["Host"] == hook.url.removeprefix("https://").removesuffix("/hook")
    [attempt] = DeliveryAttempt.objects.all()
    assert (attempt.status_code, attempt.succeeded, attempt.error) == (200, True, "")
    assert Delivery.objects.get().status == "succeeded"


def test_a_certificate_from_a_ca_not_trusted_fails_the_attempt_until_it_is(certificates):
    with receiver(certificate=certificates.localhost) as hook:
        services.endpoint_create(url=hook.url, events=["*"])
        emit_and_dispatch()
        run_ready_tasks()

        [attempt] = DeliveryAttempt.objects.all()
        assert attempt.status_code is None
        assert attempt.error.startswith("SSLCertVerificationError: ")
        assert "certificate verify failed: unable to get local issuer certificate" in attempt.error
        assert hook.requests == []
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert delivery.next_attempt_at is not None

        # Its retry, once the CA is trusted (as a worker started with SSL_CERT_FILE would).
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SSL_CERT_FILE", str(certificates.ca))
            make_due(delivery)
            run_ready_tasks()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert len(hook.requests) == 1


def test_a_certificate_for_another_host_name_fails_every_attempt(certificates, trust_the_ca):
    with receiver(certificate=certificates.other_host) as hook:
        services.endpoint_create(url=hook.url, events=["*"])
        emit_and_dispatch()
        run_ready_tasks()
        make_due(Delivery.objects.get())
        run_ready_tasks()

    errors = list(DeliveryAttempt.objects.order_by("number").values_list("error", flat=True))
    assert len(errors) == 2
    for error in errors:
        assert error.startswith("SSLCertVerificationError: ")
        assert "Hostname mismatch, certificate is not valid for 'localhost'" in error
    assert hook.requests == []
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 2)


def test_a_receiver_that_never_answers_the_handshake_is_given_up_on(db, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    # Listening, so the connection is made, but nobody ever reads the client's hello.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        services.endpoint_create(url=f"https://127.0.0.1:{port}/hook", events=["*"])
        emit_and_dispatch()
        run_ready_tasks()

    [attempt] = DeliveryAttempt.objects.all()
    assert attempt.status_code is None
    # The handshake's own timeout, or the attempt's deadline at the same time: whichever is first.
    assert attempt.error.startswith("TimeoutError: ")
    assert (
        "The handshake operation timed out" in attempt.error
        or "no whole answer within 0.3 s" in attempt.error
    )
    assert attempt.duration_ms < 1500
    assert Delivery.objects.get().status == "pending"


def test_the_tls_context_is_built_once_per_trust_store(certificates, monkeypatch):
    built = []

    def counting_default_context() -> ssl.SSLContext:
        built.append(1)
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

    monkeypatch.setattr(transport, "_tls_contexts", {})
    monkeypatch.setattr(ssl, "create_default_context", counting_default_context)
    first = transport.tls_context()
    assert transport.tls_context() is first
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca))
    assert transport.tls_context() is not first
    assert transport.tls_context() is transport.tls_context()
    assert len(built) == 2
