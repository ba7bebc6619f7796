create schema private;
