#[test]
fn sizes() {
    eprintln!("Bus {} BusMsg {} Envelope {} BusNote {} queued {} durable {} cmd {}",
        std::mem::size_of::<super::Bus>(),
        std::mem::size_of::<super::BusMsg>(),
        std::mem::size_of::<super::Envelope>(),
        std::mem::size_of::<super::BusNote>(),
        crate::engine::queued_message_size::<super::BusMsg>(),
        std::mem::size_of::<super::BusDurable>(),
        std::mem::size_of::<crate::node::Command<super::Bus>>(),
    );
}
