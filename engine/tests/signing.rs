//! Every signing vector from `shared/vectors/SIGNING.md` (venues' official docs and RFC 8032),
//! typed in: Binance spot REST and WS API, USD-M REST, Ed25519, and the other venues' HMACs.

use base64::Engine as _;
use ed25519_dalek::{SigningKey, Verifier, VerifyingKey};
use obi_engine::venue::binance::sign::{ed25519_base64, hmac_sha256_hex, rest_payload, ws_payload};
use obi_engine::venue::keys::Credentials;

const SPOT_API_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const SPOT_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

fn hmac_spot(payload: &str) -> String {
    hmac_sha256_hex(SPOT_SECRET.as_bytes(), payload.as_bytes())
}

#[test]
fn binance_spot_rest_hmac() {
    let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
    // The docs' three forms: all in the query, all in the body, or split between them.
    for (q, b) in [
        (query, ""),
        ("", query),
        (
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
            "&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
        ),
    ] {
        assert_eq!(
            hmac_spot(&rest_payload(q, b)),
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        );
    }
}

#[test]
fn binance_spot_rest_hmac_non_ascii_is_percent_encoded() {
    let raw = "symbol=１２３４５６&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
    let payload = rest_payload(raw, "");
    assert_eq!(
        payload,
        "symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    );
    assert_eq!(
        hmac_spot(&payload),
        "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"
    );
}

/// Params in request order, the expected payload, the expected signature.
type WsCase<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

#[test]
fn binance_spot_ws_api_hmac() {
    // Params in the request's (unsorted) order: the payload builder sorts them.
    let cases: [WsCase<'_>; 4] = [
        (
            &[
                ("symbol", "BTCUSDT"),
                ("side", "SELL"),
                ("type", "LIMIT"),
                ("timeInForce", "GTC"),
                ("quantity", "0.01000000"),
                ("price", "52000.00"),
                ("recvWindow", "100"),
                ("timestamp", "1645423376532"),
                ("apiKey", SPOT_API_KEY),
                ("signature", "ignored"),
            ],
            "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT",
            "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24",
        ),
        (
            &[
                ("symbol", "１２３４５６"),
                ("side", "BUY"),
                ("type", "LIMIT"),
                ("timeInForce", "GTC"),
                ("quantity", "1.00000000"),
                ("price", "0.10000000"),
                ("recvWindow", "5000"),
                ("timestamp", "1645423376532"),
                ("apiKey", SPOT_API_KEY),
            ],
            "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&price=0.10000000&quantity=1.00000000&recvWindow=5000&side=BUY&symbol=１２３４５６&timeInForce=GTC&timestamp=1645423376532&type=LIMIT",
            "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd",
        ),
        (
            &[
                ("symbol", "BTCUSDT"),
                ("side", "SELL"),
                ("type", "LIMIT"),
                ("timeInForce", "GTC"),
                ("price", "23416.10000000"),
                ("quantity", "0.00847000"),
                ("timestamp", "1660801715431"),
                ("apiKey", SPOT_API_KEY),
            ],
            "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&price=23416.10000000&quantity=0.00847000&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1660801715431&type=LIMIT",
            "15af09e41c36f3cc61378c2fbe2c33719a03dd5eba8d0f9206fbda44de717c88",
        ),
        (
            &[("timestamp", "1649729878532"), ("apiKey", SPOT_API_KEY)],
            "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&timestamp=1649729878532",
            "1cf54395b336b0a9727ef27d5d98987962bc47aca6e13fe978612d0adee066ed",
        ),
    ];
    let creds = Credentials::from_hmac(SPOT_API_KEY, SPOT_SECRET.as_bytes());
    for (params, payload, signature) in cases {
        let built = ws_payload(params);
        assert_eq!(built, payload);
        assert_eq!(hmac_spot(&built), signature);
        assert_eq!(creds.sign(built.as_bytes()), signature);
    }
}

#[test]
fn binance_usdm_rest_hmac() {
    let secret = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9";
    let query = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943";
    assert_eq!(
        hmac_sha256_hex(secret.as_bytes(), rest_payload(query, "").as_bytes()),
        "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
    );
}

#[test]
fn ed25519_rfc8032_vectors() {
    let cases = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ];
    for (seed_hex, public_hex, message_hex, signature_hex) in cases {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(seed_hex, &mut seed).unwrap();
        let key = SigningKey::from_bytes(&seed);
        assert_eq!(hex::encode(key.verifying_key().to_bytes()), public_hex);
        let message = hex::decode(message_hex).unwrap();
        let b64 = ed25519_base64(&key, &message);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&b64)
            .unwrap();
        assert_eq!(hex::encode(&raw), signature_hex);
        // Through the credentials type too, and the signature verifies.
        let creds = Credentials::from_ed25519("k", key.clone());
        assert_eq!(creds.sign(&message), b64);
        let public: [u8; 32] = hex::decode(public_hex).unwrap().try_into().unwrap();
        let sig = ed25519_dalek::Signature::from_slice(&raw).unwrap();
        VerifyingKey::from_bytes(&public)
            .unwrap()
            .verify(&message, &sig)
            .unwrap();
    }
}

#[test]
fn other_venues_hmac_vectors() {
    let bitbank_body =
        r#"{"pair": "xrp_jpy", "price": "20", "amount": "1","side": "buy", "type": "limit"}"#;
    let cases: [(&str, String, &str); 8] = [
        (
            "hoge",
            "17211217764901000/v1/user/assets".to_string(),
            "9ec5745960d05573c8fb047cdd9191bd0c6ede26f07700bb40ecf1a3920abae8",
        ),
        (
            "hoge",
            format!("17211217764901000{bitbank_body}"),
            "7868665738ae3f8a796224e0413c1351ddd7ec2af121db12815c0a5b74b8764c",
        ),
        (
            "hoge",
            "1721121776490/v1/user/assets".to_string(),
            "f957817b95c3af6cf5e2e9dfe1503ea8088f46879d4ab73051467fd7b94f1aba",
        ),
        (
            "hoge",
            format!("1721121776490{bitbank_body}"),
            "8ef83c2b991765b18c95aade7678471747c06890a23a453c76238345b5c86fb8",
        ),
        (
            "NNT34iDK8Qr2P6nlAt4XTuw42nQUdqzHaj3337Qlz4i5l4zu",
            "2085848896000https://coincheck.com/api/deposit_money?currency=BTC".to_string(),
            "8c5b1d6bcfb18f031955c33e9134143d3ab39187de7c50c020df446bbdd19b28",
        ),
        (
            "NNT34iDK8Qr2P6nlAt4XTuw42nQUdqzHaj3337Qlz4i5l4zu",
            "2085848896000https://coincheck.com/api/exchange/orderspair=btc_jpy&order_type=market_buy&market_buy_amount=BUY&size=0.01".to_string(),
            "e2fb003781e70de254c0bce4f15ebed979175bdfca88c3839dafa17e48df94e0",
        ),
        (
            "AKHZlv3PoAXZ0KXIKIVKOmS4ji3rV7ZIVIJRstwyplaw0FQ4",
            "2085848896000GET/v1/me/getchildorders?product_code=FX_BTC_JPY&child_order_state=ACTIVE".to_string(),
            "7413e237eee917f1a2a276f6d1553a82fc8ca7b1b3353ff02a070b5e3c3deda5",
        ),
        (
            "jFRfAL7PiFLvYP6rS9u6TmTjTyVI1z21QXgDqxsCdPkMmN6I",
            r#"2085848896000POST/v1/order{"symbol": "BTC_JPY", "side": "BUY", "executionType": "MARKET", "size": 0.01}"#.to_string(),
            "b6e96f0fe71993d29b50dc8a9a0bebe974fb38749e2ee7aed1e4abb845b063bf",
        ),
    ];
    for (secret, message, expected) in cases {
        assert_eq!(
            hmac_sha256_hex(secret.as_bytes(), message.as_bytes()),
            expected,
            "{message}"
        );
    }
}

#[test]
fn hex_output_is_lower_case() {
    let sig = hmac_spot("x");
    assert_eq!(sig, sig.to_ascii_lowercase());
}
