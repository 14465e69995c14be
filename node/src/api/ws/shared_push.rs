//! A push encoded once for all its recipients.
//!
//! A push frame is `{t: "push", event, data, cursor}`, and only the cursor differs between the
//! recipients (each user has their own sequence). The frame is encoded once with an empty
//! cursor, which the encoder writes last, as the single byte `0x60`; dropping that byte leaves
//! a prefix every recipient shares, and a recipient's frame is that prefix followed by their
//! cursor as a CBOR text string — byte for byte what encoding the whole frame would give,
//! since every head is in its shortest form.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Bytes;
use ciborium::Value;
use tokio::sync::mpsc;
use winichat_protocol::client::{Push, ServerFrame};
use winichat_protocol::codec::EncodeError;
use winichat_protocol::gateway::MAX_FRAME;

/// How the encoder ends a push frame with an empty cursor: the key `cursor`, then `""`.
const EMPTY_CURSOR_TAIL: &[u8] = b"\x66cursor\x60";
/// Room left in a frame for any cursor: a text head (at most 9 bytes) and the cursor itself,
/// which is `<boot>.<seq>` (12 characters, a dot, at most 20 digits).
const CURSOR_ROOM: usize = 9 + 12 + 1 + 20;

/// One encoded push, shared (by `Arc`) between the resume windows and send queues of every
/// recipient. Its bytes are counted in the hub's `live` figure while it exists.
#[derive(Debug)]
pub struct PushBody {
    prefix: Bytes,
    /// The push's place in the node's order of pushes, for cutting windows oldest first.
    pub(super) generation: u64,
    live: Arc<AtomicUsize>,
    /// How many resume windows hold this push (changed only under the hub's lock), so the
    /// hub counts its bytes once while any window holds it.
    pub(super) windows: AtomicUsize,
}

/// Why a push could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The frame does not encode (a value outside the CBOR subset, or too large).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The frame with a cursor would exceed the 64 KiB frame limit.
    #[error("a push of {0} bytes leaves no room for its cursor")]
    TooLarge(usize),
    /// The encoder did not write the cursor last (a change of the frame's field order).
    #[error("the encoded push does not end with its cursor")]
    Layout,
}

impl PushBody {
    /// Encodes `event` with `data` once; the bytes are added to `live` until the body is
    /// dropped.
    pub fn encode(
        event: &str,
        data: &Value,
        generation: u64,
        live: &Arc<AtomicUsize>,
    ) -> Result<PushBody, PushError> {
        let frame = ServerFrame::Push(Push {
            event: event.to_owned(),
            data: data.clone(),
            cursor: Some(String::new()),
        });
        let mut bytes = frame.encode()?;
        if !bytes.ends_with(EMPTY_CURSOR_TAIL) {
            return Err(PushError::Layout);
        }
        bytes.pop();
        if bytes.len() + CURSOR_ROOM > MAX_FRAME {
            return Err(PushError::TooLarge(bytes.len()));
        }
        live.fetch_add(bytes.len(), Ordering::Relaxed);
        Ok(PushBody {
            prefix: Bytes::from(bytes),
            generation,
            live: Arc::clone(live),
            windows: AtomicUsize::new(0),
        })
    }

    /// The bytes this body holds.
    pub fn size(&self) -> usize {
        self.prefix.len()
    }

    /// The whole frame for one recipient: the shared prefix and `cursor`.
    pub fn frame(&self, cursor: &str) -> Bytes {
        let mut out = Vec::with_capacity(self.prefix.len() + 9 + cursor.len());
        out.extend_from_slice(&self.prefix);
        text_head(&mut out, cursor.len());
        out.extend_from_slice(cursor.as_bytes());
        Bytes::from(out)
    }
}

impl Drop for PushBody {
    fn drop(&mut self) {
        self.live.fetch_sub(self.prefix.len(), Ordering::Relaxed);
    }
}

/// Writes the shortest CBOR head of a text string of `len` bytes (major type 3).
fn text_head(out: &mut Vec<u8>, len: usize) {
    const TEXT: u8 = 3 << 5;
    let len = len as u64;
    if len < 24 {
        out.push(TEXT | len as u8);
    } else if let Ok(n) = u8::try_from(len) {
        out.extend_from_slice(&[TEXT | 24, n]);
    } else if let Ok(n) = u16::try_from(len) {
        out.push(TEXT | 25);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(len) {
        out.push(TEXT | 26);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(TEXT | 27);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// A push waiting in a connection's send queue: the shared body and the push's place in its
/// user's sequence. The cursor text is made only as the frame is written, so queueing a push for
/// a recipient allocates nothing, and a queue slot is two words.
#[derive(Debug)]
pub struct QueuedPush {
    body: Arc<PushBody>,
    seq: u64,
}

impl QueuedPush {
    /// The push `body`, the `seq`-th of its recipient.
    pub(super) fn new(body: Arc<PushBody>, seq: u64) -> Self {
        QueuedPush { body, seq }
    }

    /// The bytes counted for this push in its queue: its frame with the longest cursor.
    pub(super) fn bytes(&self) -> usize {
        self.body.size() + CURSOR_ROOM
    }
}

/// The receiving end of one connection's push queue. The hub adds each queued push's
/// [`QueuedPush::bytes`] to `queued` before it sends it; this takes them off as the pushes
/// leave, and writes each frame with the user's cursor (`<boot>.<seq>`, gateway.md §6).
#[derive(Debug)]
pub struct PushQueue {
    rx: mpsc::Receiver<QueuedPush>,
    queued: Arc<AtomicUsize>,
    boot: Arc<str>,
}

impl PushQueue {
    pub(super) fn new(
        rx: mpsc::Receiver<QueuedPush>,
        queued: Arc<AtomicUsize>,
        boot: Arc<str>,
    ) -> Self {
        PushQueue { rx, queued, boot }
    }

    /// The next push's frame; `None` once the hub dropped the queue.
    pub async fn recv(&mut self) -> Option<Bytes> {
        let push = self.rx.recv().await?;
        Some(self.frame_of(push))
    }

    /// The next push's frame if one is queued already (`None` otherwise, or once the hub
    /// dropped the queue: [`PushQueue::recv`] then says so).
    pub fn try_recv(&mut self) -> Option<Bytes> {
        let push = self.rx.try_recv().ok()?;
        Some(self.frame_of(push))
    }

    fn frame_of(&self, push: QueuedPush) -> Bytes {
        self.queued.fetch_sub(push.bytes(), Ordering::Relaxed);
        push.body.frame(&cursor_text(&self.boot, push.seq))
    }
}

/// A cursor as the client sees it (gateway.md §6): the hub's boot id, a dot, the sequence
/// number.
pub(super) fn cursor_text(boot: &str, seq: u64) -> String {
    format!("{boot}.{seq}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(text: &str) -> Value {
        Value::Map(vec![(Value::from("text"), Value::from(text))])
    }

    #[test]
    fn a_spliced_frame_is_the_frame_encoded_whole() {
        let live = Arc::new(AtomicUsize::new(0));
        for text in ["", "hi", &"é".repeat(300), &"x".repeat(20_000)] {
            let body = PushBody::encode("chat.event", &data(text), 1, &live).expect("encodes");
            for cursor in [
                "",
                "a",
                "AAAAAAAAAAAA.1",
                "AAAAAAAAAAAA.18446744073709551615",
            ] {
                let whole = ServerFrame::Push(Push {
                    event: "chat.event".to_owned(),
                    data: data(text),
                    cursor: Some(cursor.to_owned()),
                })
                .encode()
                .expect("encodes");
                assert_eq!(body.frame(cursor).as_ref(), whole.as_slice(), "{cursor:?}");
            }
        }
    }

    #[test]
    fn cursor_text_is_the_protocol_s_cursor() {
        let cursor = winichat_protocol::gateway::Cursor {
            boot: "AAAAAAAAAAAA".to_owned(),
            seq: 42,
        };
        assert_eq!(cursor_text("AAAAAAAAAAAA", 42), cursor.to_string());
        let longest = cursor_text("AAAAAAAAAAAA", u64::MAX);
        assert!(9 + longest.len() <= CURSOR_ROOM, "{longest}");
    }

    #[tokio::test]
    async fn a_queue_counts_its_bytes_until_each_push_is_taken() {
        let live = Arc::new(AtomicUsize::new(0));
        let body = Arc::new(PushBody::encode("profile", &data("a"), 1, &live).expect("encodes"));
        let queued = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel(4);
        let mut queue = PushQueue::new(rx, Arc::clone(&queued), Arc::from("AAAAAAAAAAAA"));
        for seq in [7, 8] {
            let push = QueuedPush::new(Arc::clone(&body), seq);
            queued.fetch_add(push.bytes(), Ordering::Relaxed);
            tx.try_send(push).expect("room");
        }
        assert_eq!(
            queued.load(Ordering::Relaxed),
            2 * (body.size() + CURSOR_ROOM)
        );
        assert_eq!(
            queue.recv().await.expect("a frame"),
            body.frame("AAAAAAAAAAAA.7")
        );
        assert_eq!(queued.load(Ordering::Relaxed), body.size() + CURSOR_ROOM);
        assert_eq!(
            queue.recv().await.expect("a frame"),
            body.frame("AAAAAAAAAAAA.8")
        );
        assert_eq!(queued.load(Ordering::Relaxed), 0);
        drop(tx);
        assert!(queue.recv().await.is_none());
    }

    #[test]
    fn live_bytes_follow_the_bodies() {
        let live = Arc::new(AtomicUsize::new(0));
        let a = PushBody::encode("profile", &data("a"), 1, &live).expect("encodes");
        let b = Arc::new(PushBody::encode("profile", &data("bb"), 2, &live).expect("encodes"));
        let shared = Arc::clone(&b);
        assert_eq!(live.load(Ordering::Relaxed), a.size() + b.size());
        drop(a);
        drop(b);
        assert_eq!(live.load(Ordering::Relaxed), shared.size(), "still shared");
        drop(shared);
        assert_eq!(live.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_push_without_room_for_its_cursor_is_refused() {
        let live = Arc::new(AtomicUsize::new(0));
        let big = data(&"x".repeat(MAX_FRAME - 40));
        assert!(PushBody::encode("chat.event", &big, 1, &live).is_err());
        assert_eq!(live.load(Ordering::Relaxed), 0);
    }
}
