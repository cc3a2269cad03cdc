//! obi-shm.
