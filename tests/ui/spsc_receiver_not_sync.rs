fn main() {
    let (_tx, rx) = ringbus::spsc::channel::<u8>(4);
    let rx = &rx;
    std::thread::scope(|s| {
        s.spawn(move || rx.try_recv());
    });
}
