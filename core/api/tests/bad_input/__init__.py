"""Bad input never reaches a 500 or an HTML page: every one gets a 4xx in the error envelope,
with a documented code, and changes nothing."""
