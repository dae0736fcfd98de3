//! TCP_NODELAY from outside, for clients that do not expose their socket.

/// Sets TCP_NODELAY on every socket this process has open (lettre does not expose its socket;
/// in a single-connection client process, its socket is the only one).
pub fn set_nodelay_on_all_sockets() {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for entry in dir.flatten() {
        let is_socket = std::fs::read_link(entry.path())
            .map(|t| t.to_string_lossy().starts_with("socket:"))
            .unwrap_or(false);
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if is_socket {
            let one: libc::c_int = 1;
            // SAFETY: setsockopt on an fd we own (ours, open in this process) with a valid
            // pointer and length; on a non-TCP socket it just fails.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::IPPROTO_TCP,
                    libc::TCP_NODELAY,
                    (&one as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
    }
}
