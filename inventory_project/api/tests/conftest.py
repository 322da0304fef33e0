import pytest

# The shared checks of the error envelope report their failures in full.
pytest.register_assert_rewrite("inventory_project.api.tests.support")
