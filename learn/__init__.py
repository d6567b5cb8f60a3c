"""Learning a shop's own words from its history: read its chat exports (``exports``), find which article each
agent answer restates (``align``), and fold the customers' wordings into the KB's ``_learned/`` data
(``importer``), which the build then uses like the editors' own ``questions:``."""
