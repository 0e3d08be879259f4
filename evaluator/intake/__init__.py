"""Reading a round and its evidence: the registry, evidence files, normalization of typed values."""
