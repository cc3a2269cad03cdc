//! Strategies: turn signals into order intents.
