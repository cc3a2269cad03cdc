//! Background tasks the server runs beside the HTTP listener.

pub mod shm_poll;
