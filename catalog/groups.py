"""The staff groups, created by a migration. Staff act through these and Django's permissions."""

STORE_STAFF_GROUP = "Store staff"
MANAGER_GROUP = "Manager"
