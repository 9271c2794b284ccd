"""The PostgreSQL wire protocol: messages, a small client, and a session's upstream connection."""
