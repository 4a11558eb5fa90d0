"""Making canaries: fake patients, NIRs, phone numbers, identifiers and issuing them."""
