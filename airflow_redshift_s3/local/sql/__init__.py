"""SQL text for the local Redshift: tokens and statements, the COPY grammar, DDL rewriting."""
