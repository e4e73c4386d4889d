"""The demo scenario: a year of a district bureau, published through intake as external systems would."""
