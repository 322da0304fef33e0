"""What sits between the HTTP server and Django: the WSGI application and gunicorn's worker."""
