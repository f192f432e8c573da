//! Entry point of the origin API: reads the configuration, opens the store, runs the
//! migrations and the sweeper, and serves HTTP until SIGINT or SIGTERM.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use origin_api::{app, sweeper, AppState, Clock, Config, Store};
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    // clap prints --help, --version and flag errors itself and exits.
    let config = match Config::parse().validated() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("origin-api: {err}");
            return ExitCode::from(2);
        }
    };

    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // Colour codes only help a person at a terminal; log collectors get plain text.
        .with_ansi(std::io::stdout().is_terminal())
        .init();

    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            error!(error = %err, "origin-api stopped");
            eprintln!("origin-api: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    if config.edge_shared_secret.is_none() {
        warn!("EDGE_SHARED_SECRET is not set, so client IP and user agent in request bodies are never trusted");
    }
    if config.admin_token.is_none() {
        info!("ADMIN_TOKEN is not set, so the admin routes are off");
    }

    // Binding first makes a taken port fail at once, before any database work.
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .map_err(|err| {
            format!(
                "could not listen on {}: {err}; set LISTEN_ADDR to a free address",
                config.listen_addr
            )
        })?;
    let addr = listener.local_addr()?;

    let store = Store::connect(&config.database_url).await?;
    store.migrate().await?;
    info!("database migrations applied");

    let clock = Clock::system();
    let leeway = i64::try_from(config.token_leeway).unwrap_or(i64::MAX);
    let sweeper = tokio::spawn(sweeper::run(
        store.clone(),
        clock.clone(),
        Duration::from_secs(config.sweep_interval),
        leeway,
    ));

    info!("listening on {addr}");
    let state = AppState::new(&config, store.clone(), clock);
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;

    sweeper.abort();
    store.close().await;
    info!("origin-api stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM, the signal service managers send to stop.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            error!(error = %err, "could not listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                error!(error = %err, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };

    tokio::select! {
        () = interrupt => info!("SIGINT received; shutting down"),
        () = terminate => info!("SIGTERM received; shutting down"),
    }
}
