//! Reader throughput per core: `cargo bench -p accord-logs`.
//!
//! Synthetic, seeded inputs: Suricata EVE with mixed event types (~500 B a
//! line), Zeek conn and dns TSV (~200 B a line), Zeek JSON dns, CSV and
//! free text. Each benchmark reads a whole buffer with one `Parser` into a
//! sink that touches every observable; divan reports lines/s and bytes/s.

use accord_logs::{Event, Format, Parser, Sink};
use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};

fn main() {
    divan::main();
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn ip(&mut self) -> String {
        format!(
            "{}.{}.{}.{}",
            1 + self.below(223),
            self.below(256),
            self.below(256),
            1 + self.below(254)
        )
    }
    fn name(&mut self) -> String {
        const W: &[&str] = &[
            "cdn", "api", "www", "mail", "static", "login", "update", "files", "img", "edge",
        ];
        const T: &[&str] = &["com", "net", "org", "io", "de", "cn", "ru", "example"];
        format!(
            "{}.{}{}.{}",
            W[self.below(W.len() as u64) as usize],
            W[self.below(W.len() as u64) as usize],
            self.below(10_000),
            T[self.below(T.len() as u64) as usize]
        )
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from_digit(self.below(16) as u32, 16).unwrap())
            .collect()
    }
}

const LINES: usize = 20_000;

fn eve_lines() -> Vec<u8> {
    let mut r = Rng(0x5eed);
    let mut out = String::new();
    for i in 0..LINES {
        let ts = format!(
            "2024-03-{:02}T{:02}:{:02}:{:02}.{:06}+0000",
            1 + i % 28,
            i % 24,
            i % 60,
            (i * 7) % 60,
            r.below(1_000_000)
        );
        let (src, dst) = (r.ip(), r.ip());
        let common = format!(
            "\"timestamp\":\"{ts}\",\"flow_id\":{},\"in_iface\":\"eth0\",\"event_type\":\"{{}}\",\"src_ip\":\"{src}\",\"src_port\":{},\"dest_ip\":\"{dst}\",\"dest_port\":{},\"proto\":\"TCP\",\"community_id\":\"1:{}=\"",
            r.next() >> 12,
            1024 + r.below(60000),
            [53, 80, 443, 25][i % 4],
            r.hex(27)
        );
        let line = match r.below(6) {
            0 => format!(
                "{{{},\"app_proto\":\"tls\",\"flow\":{{\"pkts_toserver\":{},\"pkts_toclient\":{},\"bytes_toserver\":{},\"bytes_toclient\":{},\"start\":\"{ts}\",\"end\":\"{ts}\",\"age\":{},\"state\":\"closed\",\"reason\":\"timeout\",\"alerted\":false}},\"tcp\":{{\"tcp_flags\":\"1b\",\"tcp_flags_ts\":\"1b\",\"tcp_flags_tc\":\"1b\",\"syn\":true,\"fin\":true,\"psh\":true,\"ack\":true,\"state\":\"closed\"}}}}",
                common.replace("{}", "flow"),
                r.below(100),
                r.below(100),
                r.below(100000),
                r.below(1000000),
                r.below(100)
            ),
            1 => {
                let q = r.name();
                format!(
                    "{{{},\"dns\":{{\"version\":2,\"type\":\"answer\",\"id\":{},\"flags\":\"8180\",\"qr\":true,\"rd\":true,\"ra\":true,\"rrname\":\"{q}\",\"rrtype\":\"A\",\"rcode\":\"NOERROR\",\"answers\":[{{\"rrname\":\"{q}\",\"rrtype\":\"CNAME\",\"ttl\":300,\"rdata\":\"{}\"}},{{\"rrname\":\"{q}\",\"rrtype\":\"A\",\"ttl\":60,\"rdata\":\"{}\"}}],\"grouped\":{{\"A\":[\"{}\"]}}}}}}",
                    common.replace("{}", "dns"),
                    r.below(65536),
                    r.name(),
                    r.ip(),
                    r.ip()
                )
            }
            2 => format!(
                "{{{},\"tx_id\":0,\"http\":{{\"hostname\":\"{}\",\"url\":\"/{}/{}.php?id={}\",\"http_user_agent\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36\",\"http_content_type\":\"text/html\",\"http_refer\":\"https://{}/\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.1\",\"status\":200,\"length\":{}}}}}",
                common.replace("{}", "http"),
                r.name(),
                r.hex(6),
                r.hex(8),
                r.below(1000),
                r.name(),
                r.below(100000)
            ),
            3 => {
                let sni = r.name();
                format!(
                    "{{{},\"tls\":{{\"subject\":\"C=US, O=Example Inc, CN={sni}\",\"issuerdn\":\"C=US, O=Let's Encrypt, CN=R3\",\"serial\":\"04:{}\",\"fingerprint\":\"{}\",\"sni\":\"{sni}\",\"version\":\"TLS 1.2\",\"notbefore\":\"2024-01-01T00:00:00\",\"notafter\":\"2024-04-01T00:00:00\",\"ja3\":{{\"hash\":\"{}\"}},\"ja3s\":{{\"hash\":\"{}\"}}}}}}",
                    common.replace("{}", "tls"),
                    r.hex(20),
                    r.hex(40),
                    r.hex(32),
                    r.hex(32)
                )
            }
            4 => format!(
                "{{{},\"tx_id\":0,\"alert\":{{\"action\":\"allowed\",\"gid\":1,\"signature_id\":{},\"rev\":3,\"signature\":\"ET MALWARE Possible Trojan Checkin {}\",\"category\":\"A Network Trojan was detected\",\"severity\":1,\"metadata\":{{\"signature_severity\":[\"Major\"],\"updated_at\":[\"2024_01_01\"]}}}},\"http\":{{\"hostname\":\"{}\",\"url\":\"/gate.php\",\"http_user_agent\":\"curl/8.0\",\"http_method\":\"POST\",\"protocol\":\"HTTP/1.1\",\"length\":0}},\"app_proto\":\"http\"}}",
                common.replace("{}", "alert"),
                2_000_000 + r.below(100_000),
                r.hex(6),
                r.name()
            ),
            _ => format!(
                "{{{},\"http\":{{\"hostname\":\"{}\",\"url\":\"/dl/{}.exe\",\"http_content_type\":\"application/octet-stream\",\"status\":200}},\"app_proto\":\"http\",\"fileinfo\":{{\"filename\":\"/dl/{}.exe\",\"magic\":\"PE32 executable\",\"gaps\":false,\"state\":\"CLOSED\",\"md5\":\"{}\",\"sha256\":\"{}\",\"stored\":false,\"size\":{},\"tx_id\":0}}}}",
                common.replace("{}", "fileinfo"),
                r.name(),
                r.hex(8),
                r.hex(8),
                r.hex(32),
                r.hex(64),
                r.below(10_000_000)
            ),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.into_bytes()
}

fn zeek_conn() -> Vec<u8> {
    let mut r = Rng(0xc0ff);
    let mut out = String::from(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n",
    );
    for i in 0..LINES {
        out.push_str(&format!(
            "{}.{:06}\tC{}\t{}\t{}\t{}\t{}\ttcp\tssl\t{}.{:06}\t{}\t{}\tSF\tT\tF\t0\tShADadFf\t{}\t{}\t{}\t{}\t-\n",
            1_700_000_000 + i,
            r.below(1_000_000),
            r.hex(17),
            r.ip(),
            1024 + r.below(60000),
            r.ip(),
            [443, 80, 53, 22][i % 4],
            r.below(100),
            r.below(1_000_000),
            r.below(100_000),
            r.below(1_000_000),
            r.below(1000),
            r.below(100_000),
            r.below(1000),
            r.below(1_000_000)
        ));
    }
    out.into_bytes()
}

fn zeek_dns() -> Vec<u8> {
    let mut r = Rng(0xd115);
    let mut out = String::from(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool\n",
    );
    for i in 0..LINES {
        out.push_str(&format!(
            "{}.{:06}\tC{}\t{}\t{}\t{}\t53\tudp\t{}\t0.{:06}\t{}\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t{},{}\t300.0,60.0\tF\n",
            1_700_000_000 + i,
            r.below(1_000_000),
            r.hex(17),
            r.ip(),
            1024 + r.below(60000),
            r.ip(),
            r.below(65536),
            r.below(1_000_000),
            r.name(),
            r.name(),
            r.ip()
        ));
    }
    out.into_bytes()
}

fn zeek_dns_json() -> Vec<u8> {
    let mut r = Rng(0x15);
    let mut out = String::new();
    for i in 0..LINES {
        out.push_str(&format!(
            "{{\"_path\":\"dns\",\"ts\":{}.{:06},\"uid\":\"C{}\",\"id.orig_h\":\"{}\",\"id.orig_p\":{},\"id.resp_h\":\"{}\",\"id.resp_p\":53,\"proto\":\"udp\",\"trans_id\":{},\"query\":\"{}\",\"qclass\":1,\"qclass_name\":\"C_INTERNET\",\"qtype\":1,\"qtype_name\":\"A\",\"rcode\":0,\"rcode_name\":\"NOERROR\",\"AA\":false,\"TC\":false,\"RD\":true,\"RA\":true,\"Z\":0,\"answers\":[\"{}\",\"{}\"],\"TTLs\":[300.0,60.0],\"rejected\":false}}\n",
            1_700_000_000 + i,
            r.below(1_000_000),
            r.hex(17),
            r.ip(),
            1024 + r.below(60000),
            r.ip(),
            r.below(65536),
            r.name(),
            r.name(),
            r.ip()
        ));
    }
    out.into_bytes()
}

fn csv_lines() -> Vec<u8> {
    let mut r = Rng(0xc5);
    let mut out =
        String::from("timestamp,src_ip,src_port,dst_ip,dst_port,action,hostname,url,bytes\n");
    for i in 0..LINES {
        let h = r.name();
        out.push_str(&format!(
            "{},{},{},{},443,allow,{h},https://{h}/{},{}\n",
            1_700_000_000 + i,
            r.ip(),
            1024 + r.below(60000),
            r.ip(),
            r.hex(10),
            r.below(100000)
        ));
    }
    out.into_bytes()
}

fn text_lines() -> Vec<u8> {
    let mut r = Rng(0x7e);
    let mut out = String::new();
    for i in 0..LINES {
        out.push_str(&format!(
            "Mar {:2} 12:{:02}:{:02} gw{} sshd[{}]: Failed password for invalid user admin from {} port {} ssh2; see https://{}/r/{}\n",
            1 + i % 28,
            i % 60,
            (i * 7) % 60,
            r.below(9),
            r.below(65536),
            r.ip(),
            r.below(65536),
            r.name(),
            r.hex(8)
        ));
    }
    out.into_bytes()
}

#[derive(Default)]
struct Count {
    events: usize,
    bytes: usize,
}

impl Sink for Count {
    fn event(&mut self, ev: &Event<'_>) {
        self.events += 1;
        for o in ev.observables {
            self.bytes += o.value.len() + o.field.len();
        }
    }
}

fn run(bencher: Bencher, format: Format, data: fn() -> Vec<u8>) {
    let bytes = data();
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    bencher
        .counter(ItemsCount::new(lines))
        .counter(BytesCount::new(bytes.len()))
        .bench_local(|| {
            let mut p = Parser::new(format);
            let mut s = Count::default();
            p.read_chunk(black_box(&bytes), 1, &mut s);
            assert!(s.events >= LINES);
            black_box(s.bytes)
        });
}

#[divan::bench(sample_count = 20)]
fn eve_mixed(b: Bencher) {
    run(b, Format::Eve, eve_lines);
}

#[divan::bench(sample_count = 20)]
fn zeek_tsv_conn(b: Bencher) {
    run(b, Format::ZeekTsv, zeek_conn);
}

#[divan::bench(sample_count = 20)]
fn zeek_tsv_dns(b: Bencher) {
    run(b, Format::ZeekTsv, zeek_dns);
}

#[divan::bench(sample_count = 20)]
fn zeek_json_dns(b: Bencher) {
    run(b, Format::ZeekJson, zeek_dns_json);
}

#[divan::bench(sample_count = 20)]
fn csv(b: Bencher) {
    run(b, Format::Csv, csv_lines);
}

#[divan::bench(sample_count = 20)]
fn text(b: Bencher) {
    run(b, Format::Text, text_lines);
}
