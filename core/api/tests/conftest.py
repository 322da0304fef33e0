import pytest

# The shared checks of the error envelope report their failures in full.
pytest.register_assert_rewrite("core.api.tests.support")
