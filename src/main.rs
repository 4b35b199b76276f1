fn main() -> std::process::ExitCode {
    spiral::app::main_entry()
}
