"""Reading and compiling standards: safe YAML, schemas, expressions, scoring methods, periods."""
