use std::rc::Rc;

fn main() {
    let (tx, _rx) = ringbus::spsc::channel::<Rc<u8>>(4);
    std::thread::spawn(move || drop(tx));
}
