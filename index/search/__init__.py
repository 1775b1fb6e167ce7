"""Search: a question cleaned and tokenized once, a follow-up resolved against the previous one,
the built index on disk, ranking and abstention."""
