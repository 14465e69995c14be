//! [`CeilingServer`]: the least a WebSocket broadcast server can do, as the yardstick the
//! node's fan-out is measured against in the same run.
//!
//! A client opens `/ws/{room}`; every text or binary frame it sends goes to every other client
//! of the same room, as the same bytes (shared, not copied). No auth, no persistence, no
//! ordering beyond one sender's. Each client has a bounded queue of frames; a client that lets
//! it fill is dropped (the node does the same with 4006). Sockets get `TCP_NODELAY`, and a
//! writer writes whatever is queued before it flushes, as a well-written server would.
//!
//! ```no_run
//! # async fn demo() {
//! use winichat_testkit::ceiling::CeilingServer;
//! let ceiling = CeilingServer::start().await;
//! println!("ws://{}/ws/room1", ceiling.addr());
//! ceiling.shutdown().await;
//! # }
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};

/// Frames queued for one client before it is dropped as too slow (the node's default send
/// queue is 256 frames; the ceiling is kinder, so that it never loses a reader the node keeps).
pub const CLIENT_QUEUE: usize = 4096;
/// The longest [`CeilingServer::shutdown`] waits for connected clients.
pub const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// Frames a writer writes before it flushes, at most.
const WRITE_BATCH: usize = 64;

/// A room's clients: id and queue.
type Room = Arc<Mutex<Vec<(u64, mpsc::Sender<Message>)>>>;

#[derive(Debug, Default)]
struct Rooms {
    rooms: Mutex<HashMap<String, Room>>,
    next_id: AtomicU64,
    dropped: AtomicU64,
}

impl Rooms {
    fn room(&self, name: &str) -> Room {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.entry(name.to_owned()).or_default().clone()
    }
}

/// A running ceiling server on a free 127.0.0.1 port; stops when dropped or shut down.
#[derive(Debug)]
pub struct CeilingServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    rooms: Arc<Rooms>,
}

impl CeilingServer {
    /// Binds 127.0.0.1:0 and serves in this runtime.
    ///
    /// # Panics
    /// If no port can be bound.
    pub async fn start() -> CeilingServer {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind the ceiling server on 127.0.0.1");
        let addr = listener.local_addr().expect("the ceiling server's address");
        let rooms = Arc::new(Rooms::default());
        let app = Router::new()
            .route("/ws/{room}", get(upgrade))
            .with_state(rooms.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let listener = listener.tap_io(|tcp| {
            // A frame goes out at once rather than waiting for the peer's delayed ACK.
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        CeilingServer {
            addr,
            stop: Some(stop),
            task: Some(task),
            rooms,
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Clients dropped so far because their queue filled.
    pub fn dropped_clients(&self) -> u64 {
        self.rooms.dropped.load(Ordering::Relaxed)
    }

    /// Stops accepting and waits (at most [`SHUTDOWN_WAIT`]) for the clients to leave.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_WAIT, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for CeilingServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Joins the client to its room before answering the upgrade, so that a client is in its room
/// by the time it may send.
async fn upgrade(
    ws: WebSocketUpgrade,
    Path(room_name): Path<String>,
    State(rooms): State<Arc<Rooms>>,
) -> Response {
    let id = rooms.next_id.fetch_add(1, Ordering::Relaxed);
    let room = rooms.room(&room_name);
    let (queue, queued) = mpsc::channel::<Message>(CLIENT_QUEUE);
    room.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, queue));
    let left = room.clone();
    ws.on_failed_upgrade(move |_| leave(&left, id))
        .on_upgrade(move |socket| serve_client(socket, rooms, room, id, queued))
}

fn leave(room: &Room, id: u64) {
    room.lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(other, _)| *other != id);
}

async fn serve_client(
    socket: WebSocket,
    rooms: Arc<Rooms>,
    room: Room,
    id: u64,
    mut queued: mpsc::Receiver<Message>,
) {
    let (mut sink, mut stream) = socket.split();

    let writer = tokio::spawn(async move {
        while let Some(first) = queued.recv().await {
            if sink.feed(first).await.is_err() {
                return;
            }
            let mut written = 1;
            while written < WRITE_BATCH {
                let Ok(next) = queued.try_recv() else { break };
                if sink.feed(next).await.is_err() {
                    return;
                }
                written += 1;
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });

    while let Some(Ok(message)) = stream.next().await {
        if !matches!(message, Message::Binary(_) | Message::Text(_)) {
            if matches!(message, Message::Close(_)) {
                break;
            }
            continue;
        }
        let mut members = room.lock().unwrap_or_else(|e| e.into_inner());
        members.retain(|(other, queue)| {
            if *other == id {
                return true;
            }
            match queue.try_send(message.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // Too slow: dropping its queue ends its writer, which closes its socket.
                    rooms.dropped.fetch_add(1, Ordering::Relaxed);
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }
    leave(&room, id);
    // Our queue is gone from the room: the writer ends once it has written what is left.
    let _ = writer.await;
}
