"""Evidence: the hash chain, its verification, reports and their signatures."""
