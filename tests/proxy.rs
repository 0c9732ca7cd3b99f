//! The fault proxy does what each fault says, checked against a small
//! WebSocket echo server: by counts, bytes and order, never by time.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use motcua_tests::proxy::{Direction, Faults, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Bounds every wait so a broken proxy fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(30);
const MARKER: &[u8] = b"--marker--";

/// A WebSocket server that sends every data message back.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if matches!(message, Message::Binary(_) | Message::Text(_))
                        && ws.send(message).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// A TCP server that counts what it receives until the connection closes.
async fn counting_server() -> (SocketAddr, tokio::sync::mpsc::Receiver<Vec<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut reads = Vec::new();
                let mut buf = vec![0u8; 1 << 20];
                while let Ok(n @ 1..) = stream.read(&mut buf).await {
                    reads.push(n);
                }
                let _ = tx.send(reads).await;
            });
        }
    });
    (addr, rx)
}

async fn connect(proxy: &Proxy) -> Ws {
    let url = format!("ws://{}/", proxy.addr());
    tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
        .await
        .expect("connecting timed out")
        .expect("cannot connect through the proxy")
        .0
}

fn numbered(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("message {i:03}").into_bytes())
        .collect()
}

/// Queues every message and writes them in one go.
async fn send_all(ws: &mut Ws, messages: &[Vec<u8>]) {
    for m in messages {
        ws.feed(Message::Binary(m.clone().into())).await.unwrap();
    }
    ws.flush().await.unwrap();
}

/// Reads data messages until the marker comes back; returns those before it.
async fn until_marker(ws: &mut Ws) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    loop {
        let next = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("waiting for the marker timed out");
        match next {
            Some(Ok(Message::Binary(b))) if &b[..] == MARKER => return got,
            Some(Ok(Message::Binary(b))) => got.push(b.to_vec()),
            Some(Ok(_)) => {}
            other => panic!("the connection ended before the marker: {other:?}"),
        }
    }
}

/// Waits until the proxy's counters satisfy `done`.
async fn wait_for(proxy: &Proxy, done: impl Fn(&motcua_tests::proxy::ProxyStats) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done(&proxy.stats()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting; stats: {:?}",
            proxy.stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Whether the peer sees the connection end (close, error or EOF).
async fn ends(ws: &mut Ws) -> bool {
    loop {
        match tokio::time::timeout(PATIENCE, ws.next()).await {
            Err(_) => return false,
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_perfect_link_delivers_every_message_once_in_order() {
    let proxy = Proxy::with_seed(echo_server().await, 1).unwrap();
    let mut ws = connect(&proxy).await;
    let mut sent = numbered(20);
    // Lengths in each of the header's three forms.
    sent.push(vec![1u8; 125]);
    sent.push(vec![2u8; 70_000]);
    sent.push(vec![3u8; 200_000]);
    send_all(&mut ws, &sent).await;
    send_all(&mut ws, &[MARKER.to_vec()]).await;
    assert_eq!(until_marker(&mut ws).await, sent);
    let stats = proxy.stats();
    assert_eq!(stats.to_server.messages, 24);
    assert_eq!(stats.to_client.messages, 24);
    assert_eq!(stats.connections, 1);
    assert_eq!(stats.to_server.dropped + stats.to_server.duplicated, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_drop_at_one_nothing_arrives() {
    let proxy = Proxy::with_seed(echo_server().await, 2).unwrap();
    let mut ws = connect(&proxy).await;
    proxy.set_direction(
        Direction::ToServer,
        Faults {
            drop: 1.0,
            ..Faults::default()
        },
    );
    send_all(&mut ws, &numbered(10)).await;
    wait_for(&proxy, |s| s.to_server.dropped == 10).await;
    proxy.heal();
    send_all(&mut ws, &[MARKER.to_vec()]).await;
    // The connection is in order: anything not dropped would come first.
    assert!(until_marker(&mut ws).await.is_empty());
    assert_eq!(proxy.stats().to_server.messages, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_duplicate_at_one_everything_arrives_twice() {
    let proxy = Proxy::with_seed(echo_server().await, 3).unwrap();
    let mut ws = connect(&proxy).await;
    proxy.set_direction(
        Direction::ToServer,
        Faults {
            duplicate: 1.0,
            ..Faults::default()
        },
    );
    let sent = numbered(5);
    send_all(&mut ws, &sent).await;
    wait_for(&proxy, |s| s.to_server.duplicated == 5).await;
    proxy.heal();
    send_all(&mut ws, &[MARKER.to_vec()]).await;
    let doubled: Vec<Vec<u8>> = sent.iter().flat_map(|m| [m.clone(), m.clone()]).collect();
    assert_eq!(until_marker(&mut ws).await, doubled);
    assert_eq!(proxy.stats().to_server.messages, 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragmented_message_is_duplicated_whole_and_a_ping_between_its_fragments_passes() {
    let proxy = Proxy::with_seed(echo_server().await, 4).unwrap();
    let mut ws = connect(&proxy).await;
    proxy.set_direction(
        Direction::ToServer,
        Faults {
            duplicate: 1.0,
            ..Faults::default()
        },
    );
    let parts: [&[u8]; 3] = [b"first part, ", b"second part, ", b"last part"];
    ws.feed(Message::Frame(Frame::message(
        parts[0].to_vec(),
        OpCode::Data(Data::Binary),
        false,
    )))
    .await
    .unwrap();
    ws.feed(Message::Ping(b"between".to_vec().into()))
        .await
        .unwrap();
    ws.feed(Message::Frame(Frame::message(
        parts[1].to_vec(),
        OpCode::Data(Data::Continue),
        false,
    )))
    .await
    .unwrap();
    ws.feed(Message::Frame(Frame::message(
        parts[2].to_vec(),
        OpCode::Data(Data::Continue),
        true,
    )))
    .await
    .unwrap();
    ws.flush().await.unwrap();
    wait_for(&proxy, |s| s.to_server.duplicated == 1).await;
    proxy.heal();
    send_all(&mut ws, &[MARKER.to_vec()]).await;
    let whole = parts.concat();
    assert_eq!(until_marker(&mut ws).await, vec![whole.clone(), whole]);
    let stats = proxy.stats();
    // Three fragments twice, the ping once, the marker once.
    assert_eq!(stats.to_server.frames, 3 * 2 + 1 + 1);
    assert_eq!(stats.to_server.messages, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_reorder_at_one_each_pair_swaps() {
    let proxy = Proxy::with_seed(echo_server().await, 5).unwrap();
    let mut ws = connect(&proxy).await;
    proxy.set_direction(
        Direction::ToServer,
        Faults {
            reorder: 1.0,
            ..Faults::default()
        },
    );
    let sent = numbered(6);
    send_all(&mut ws, &sent).await;
    wait_for(&proxy, |s| s.to_server.messages == 6).await;
    proxy.heal();
    send_all(&mut ws, &[MARKER.to_vec()]).await;
    let order: Vec<Vec<u8>> = [1, 0, 3, 2, 5, 4]
        .iter()
        .map(|&i| sent[i].clone())
        .collect();
    assert_eq!(until_marker(&mut ws).await, order);
    assert_eq!(proxy.stats().to_server.reordered, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_jitter_and_stalls_lose_nothing_and_keep_the_order() {
    let proxy = Proxy::with_seed(echo_server().await, 6).unwrap();
    let mut ws = connect(&proxy).await;
    proxy.set(Faults {
        delay: Duration::from_millis(5),
        jitter: Duration::from_millis(20),
        stall: 0.2,
        stall_for: Duration::from_millis(10),
        ..Faults::default()
    });
    let sent = numbered(40);
    send_all(&mut ws, &sent).await;
    proxy.stall(Duration::from_millis(50));
    send_all(&mut ws, &[MARKER.to_vec()]).await;
    assert_eq!(until_marker(&mut ws).await, sent);
    let stats = proxy.stats();
    assert!(stats.to_server.stalls > 0, "{stats:?}");
    assert_eq!(stats.to_client.messages, 41);
    assert_eq!(stats.open, 1, "a stall must not close the connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_at_byte_n_delivers_exactly_n_bytes_then_closes() {
    let (server, mut reports) = counting_server().await;
    let proxy = Proxy::with_seed(server, 7).unwrap();
    proxy.set_direction(Direction::ToServer, Faults::cut_at_byte(1234));
    let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
    // Not HTTP, so the proxy forwards it raw.
    let payload = vec![0u8; 10_000];
    let _ = client.write_all(&payload).await;
    let reads = tokio::time::timeout(PATIENCE, reports.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reads.iter().sum::<usize>(), 1234);
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, client.read_to_end(&mut rest)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "the client must see the close"
    );
    let stats = proxy.stats();
    assert_eq!(stats.to_server.bytes, 1234);
    assert_eq!(stats.to_server.cuts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_inside_a_websocket_frame_ends_the_connection_mid_frame() {
    let proxy = Proxy::with_seed(echo_server().await, 8).unwrap();
    let mut ws = connect(&proxy).await;
    // The upgrade response is through; cut 5 bytes into the first echo.
    let handshake = proxy.stats().to_client.bytes;
    proxy.set_direction(Direction::ToClient, Faults::cut_at_byte(handshake + 5));
    send_all(&mut ws, &[vec![9u8; 100]]).await;
    assert!(
        ends(&mut ws).await,
        "the client must see the connection end"
    );
    let stats = proxy.stats();
    assert_eq!(stats.to_client.bytes, handshake + 5);
    assert_eq!(stats.to_client.messages, 0);
    assert_eq!(stats.to_client.cuts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_random_cut_falls_inside_the_message() {
    let proxy = Proxy::with_seed(echo_server().await, 9).unwrap();
    let mut ws = connect(&proxy).await;
    let handshake = proxy.stats().to_server.bytes;
    proxy.set_direction(
        Direction::ToServer,
        Faults {
            cut: 1.0,
            ..Faults::default()
        },
    );
    let message = vec![5u8; 1000];
    send_all(&mut ws, &[message]).await;
    assert!(ends(&mut ws).await);
    let stats = proxy.stats();
    let forwarded = stats.to_server.bytes - handshake;
    // 1000 bytes of payload, 8 of header and 4 of mask.
    assert!(forwarded < 1012, "{forwarded} bytes went through");
    assert_eq!(stats.to_server.cuts, 1);
    assert_eq!(stats.to_server.messages, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_kills_and_refuses_connections_until_healed() {
    let proxy = Proxy::with_seed(echo_server().await, 10).unwrap();
    let mut ws = connect(&proxy).await;
    proxy.partition(true);
    assert!(ends(&mut ws).await, "the open connection must die");
    let refused = tokio_tungstenite::connect_async(format!("ws://{}/", proxy.addr())).await;
    assert!(refused.is_err(), "a partitioned link must not connect");
    assert!(proxy.stats().refused >= 1);
    proxy.heal();
    let mut ws = connect(&proxy).await;
    send_all(&mut ws, &[b"after".to_vec(), MARKER.to_vec()]).await;
    assert_eq!(until_marker(&mut ws).await, vec![b"after".to_vec()]);
    wait_for(&proxy, |s| s.open == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_all_closes_open_connections_and_new_ones_still_work() {
    let proxy = Proxy::with_seed(echo_server().await, 11).unwrap();
    let mut first = connect(&proxy).await;
    let mut second = connect(&proxy).await;
    proxy.cut_all();
    assert!(ends(&mut first).await && ends(&mut second).await);
    let mut third = connect(&proxy).await;
    send_all(&mut third, &[MARKER.to_vec()]).await;
    assert!(until_marker(&mut third).await.is_empty());
    assert_eq!(proxy.stats().connections, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_link_delivers_everything_in_small_pieces() {
    let (server, mut reports) = counting_server().await;
    let proxy = Proxy::with_seed(server, 12).unwrap();
    proxy.set_direction(Direction::ToServer, Faults::throttled(16 * 1024));
    let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
    let payload = vec![0u8; 64 * 1024];
    client.write_all(&payload).await.unwrap();
    client.shutdown().await.unwrap();
    let reads = tokio::time::timeout(PATIENCE, reports.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reads.iter().sum::<usize>(), payload.len());
    // Paced in chunks of rate/20 bytes: never the whole payload in one read.
    assert!(reads.len() > 1, "{reads:?}");
    assert_eq!(proxy.stats().to_server.bytes, payload.len() as u64);
}

/// Which of 200 messages survive a 50 % drop rate under a seed.
async fn survivors(seed: u64) -> Vec<Vec<u8>> {
    let proxy = Proxy::with_seed(echo_server().await, seed).unwrap();
    let mut ws = connect(&proxy).await;
    proxy.set_direction(
        Direction::ToServer,
        Faults {
            drop: 0.5,
            ..Faults::default()
        },
    );
    send_all(&mut ws, &numbered(200)).await;
    wait_for(&proxy, |s| {
        s.to_server.dropped + s.to_server.messages == 200
    })
    .await;
    proxy.heal();
    send_all(&mut ws, &[MARKER.to_vec()]).await;
    until_marker(&mut ws).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_makes_the_same_faults() {
    let a = survivors(42).await;
    let b = survivors(42).await;
    let c = survivors(43).await;
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!((50..150).contains(&a.len()), "{} survived", a.len());
}
