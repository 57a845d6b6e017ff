"""What the database looks like: numbered migrations, the opening of a database, the column registry."""
