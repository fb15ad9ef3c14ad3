"""Tables (text, csv, markdown, json) and plots."""
