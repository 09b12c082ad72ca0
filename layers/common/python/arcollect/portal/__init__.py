"""The customer self-service portal: pages and JSON API behind API Gateway."""
