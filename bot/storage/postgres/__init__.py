"""The PostgreSQL stores: what several replicas share, through one asyncpg pool."""
