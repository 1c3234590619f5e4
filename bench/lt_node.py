#!/usr/bin/python3
"""A libtorrent peer for `npm run bench:pair`: one seed or one leecher on 127.0.0.1.

  lt_node.py seed  --torrent T --data-dir D [--port P] [--profile default|high_performance_seed]
  lt_node.py leech --torrent T --data-dir D --peer 127.0.0.1:P [--profile ...] [--timeout S]
  either role: [--tracker URL] announces there too (a leecher then needs no --peer), and
  leech [--stay] keeps serving after FINISHED until SIGTERM (bench:fanout's swarm)

The session sees only loopback: it listens on 127.0.0.1, DHT, LSD, UPnP and NAT-PMP are
off, uTP is off (the swarmsup side speaks TCP only), and the one peer it talks to is given
on the command line (no tracker is contacted). allow_multiple_connections_per_ip is on,
since every peer in the bench shares 127.0.0.1. Protocol encryption (MSE/PE) is off in and
out, so every pair speaks the same plaintext BitTorrent: swarmsup has no MSE, and
libtorrent's default first dial is encrypted, which a swarmsup seed closes, costing a
reconnect one second later that would be timed as transfer.

stdout, one flushed line each, which the bench reads:
  READY <port>  seed: the data passed libtorrent's check, the torrent is seeding and the
                session listens on <port> (give --port 0 to let the system choose)
  FINISHED      leech: every piece downloaded and hash-checked
  RESULT {}     on exit: payload counters, errors
A seed serves until SIGTERM/SIGINT; a leecher exits once finished (code 0) or at the
timeout (code 1). Run it with /usr/bin/python3: Debian's libtorrent binding lives there.
"""
import argparse
import json
import signal
import sys
import time

import libtorrent as lt

PROFILES = {
    'default': lt.default_settings,
    'high_performance_seed': lt.high_performance_seed,
}
# Alerts worth reading: state changes, errors, and the "finished" event.
ALERTS = (lt.alert.category_t.status_notification
          | lt.alert.category_t.error_notification
          | lt.alert.category_t.storage_notification)
ERROR_ALERTS = {'torrent_error_alert', 'file_error_alert', 'listen_failed_alert',
                'hash_failed_alert', 'peer_error_alert'}


def session_settings(profile, port):
    s = PROFILES[profile]()
    s.update({
        'listen_interfaces': f'127.0.0.1:{port}',
        'enable_dht': False,
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        'enable_outgoing_utp': False,
        'enable_incoming_utp': False,
        'allow_multiple_connections_per_ip': True,
        'out_enc_policy': lt.enc_policy.pe_disabled,
        'in_enc_policy': lt.enc_policy.pe_disabled,
        'alert_mask': ALERTS,
    })
    return s


def loopback_peer(text):
    host, _, port = text.rpartition(':')
    if not host.startswith('127.'):
        raise argparse.ArgumentTypeError(f'{text}: the bench stays on loopback (127.x.y.z)')
    return host, int(port)


def say(*parts):
    print(*parts, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('role', choices=['seed', 'leech'])
    ap.add_argument('--torrent', required=True)
    ap.add_argument('--data-dir', required=True, help='seed: the directory holding the data; leech: where to save it')
    ap.add_argument('--port', type=int, default=0, help='listen port (0: any)')
    ap.add_argument('--peer', type=loopback_peer, help='leech: the seed to connect to (127.x.y.z:port)')
    ap.add_argument('--profile', choices=sorted(PROFILES), default='default')
    ap.add_argument('--timeout', type=float, default=600.0, help='leech: give up after this many seconds')
    ap.add_argument('--tracker', help='announce to this tracker URL (loopback) as well')
    ap.add_argument('--stay', action='store_true', help='leech: after FINISHED, serve until SIGTERM')
    args = ap.parse_args()
    if args.role == 'leech' and args.peer is None and args.tracker is None:
        ap.error('leech needs --peer or --tracker')

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))

    ses = lt.session(session_settings(args.profile, args.port))
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(args.torrent)
    params.save_path = args.data_dir
    if args.tracker is not None:
        params.trackers = [args.tracker]
    handle = ses.add_torrent(params)

    errors = []
    announced = False
    finished = False
    last_dial = 0.0
    deadline = time.time() + args.timeout
    while not stopping:
        ses.wait_for_alert(50)
        for alert in ses.pop_alerts():
            kind = type(alert).__name__
            if kind in ERROR_ALERTS:
                errors.append(f'{kind}: {alert.message()}')
            elif kind == 'torrent_finished_alert' and args.role == 'leech':
                finished = True
        status = handle.status()
        if args.role == 'seed':
            if not announced and status.state == lt.torrent_status.seeding and ses.is_listening():
                announced = True
                say('READY', ses.listen_port())
            continue
        if finished or status.is_finished:
            if not announced:
                announced = True
                say('FINISHED')
            finished = True
            if args.stay:
                continue
            break
        if time.time() > deadline:
            errors.append(f'timeout after {args.timeout} s')
            break
        # Dial again while unconnected: the first attempt can land while the torrent is still checking.
        if args.peer is not None and status.num_peers == 0 and time.time() - last_dial > 1.0:
            handle.connect_peer(args.peer)
            last_dial = time.time()

    status = handle.status()
    say('RESULT', json.dumps({
        'role': args.role,
        'profile': args.profile,
        'payloadDownloaded': status.total_payload_download,
        'payloadUploaded': status.total_payload_upload,
        'pieces': status.num_pieces,
        'errors': errors,
    }))
    ses.pause()
    return 0 if args.role == 'seed' or finished else 1


if __name__ == '__main__':
    sys.exit(main())
