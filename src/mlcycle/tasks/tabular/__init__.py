"""Classification and regression on tables: metrics and behaviour checks written as data."""
