"""What movies are about: their texts, sentence embeddings and TF-IDF, and genre embeddings."""
