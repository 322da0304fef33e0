"""Who may do what: every endpoint against every kind of caller.

One table (``ACCESS``) says, for each caller, what each access rule answers: the endpoint's own
success status (``OK``) or a refusal. Each endpoint names its rule and its success status, and
``test_each_caller_gets_exactly_what_it_should`` runs every endpoint for every caller: the status,
the error envelope's code, and a database that a refusal (or a read) left exactly as it was.
"""
