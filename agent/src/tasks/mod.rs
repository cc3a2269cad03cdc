//! Background tasks the server runs beside the HTTP listener.

pub mod backup_schedule;
pub mod shm_poll;
