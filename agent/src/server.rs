//! Runs the agent: binds the listener, starts the stats poller, serves until a signal, then
//! drains in-flight requests for at most `http.shutdown_timeout_secs`.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::state::AppState;
use crate::tasks;

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// OS error.
        #[source]
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("server error: {0}")]
    Serve(#[source] std::io::Error),
    /// In-flight requests did not finish within the grace period.
    #[error("shutdown timed out after {0:?}; exiting anyway")]
    ShutdownTimeout(std::time::Duration),
}

/// Binds `state.config().listen` and serves until `stop` resolves.
///
/// # Errors
/// [`ServeError`].
pub async fn serve(
    state: AppState,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = state.config().listen;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    serve_on(listener, state, stop).await
}

/// Serves on an already-bound listener until `stop` resolves.
///
/// # Errors
/// [`ServeError`].
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let grace = state.config().shutdown_timeout;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    state.refresh_engine();
    let poller = tokio::spawn(tasks::shm_poll::run(state.clone(), shutdown_rx.clone()));
    for worker in state.take_sink_workers() {
        tokio::spawn(worker.run());
    }
    let backups = tokio::spawn(tasks::backup_schedule::run(
        state.clone(),
        shutdown_rx.clone(),
    ));

    if let Ok(local) = listener.local_addr() {
        tracing::info!(addr = %local, "obi-agent listening");
    }
    let app = crate::app(state).into_make_service_with_connect_info::<SocketAddr>();
    let mut server_stop = shutdown_rx;
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|stop| *stop).await;
            })
            .await
    });

    stop.await;
    let _ = shutdown_tx.send(true);
    let _ = poller.await;
    let _ = backups.await;
    match tokio::time::timeout(grace, server).await {
        Ok(Ok(Ok(()))) => {
            tracing::info!("shut down cleanly");
            Ok(())
        }
        Ok(Ok(Err(e))) => Err(ServeError::Serve(e)),
        Ok(Err(join)) => Err(ServeError::Serve(std::io::Error::other(join.to_string()))),
        Err(_) => Err(ServeError::ShutdownTimeout(grace)),
    }
}
