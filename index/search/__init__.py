"""Search: a question cleaned and tokenized once, the built index on disk, ranking and abstention."""
