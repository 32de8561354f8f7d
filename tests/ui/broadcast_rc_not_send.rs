use std::rc::Rc;

fn main() {
    let (publisher, _subscriber) = ringbus::broadcast::channel::<Rc<u8>>(4);
    std::thread::spawn(move || drop(publisher));
}
