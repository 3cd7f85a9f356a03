"""The competition's metric and submission format, and scores summarised per image type."""
