"""Stream very large Django tables out (CSV, TSV, JSON Lines) and back in, in bounded memory."""
