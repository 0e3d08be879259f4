"""agrade: score grassroots Party organizations against "1+N" YAML standards."""
__version__ = "0.1.0"
