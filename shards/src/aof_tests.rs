use super::*;

#[test]
fn manifests_round_trip_and_keep_order() {
    let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
    let m = Manifest::parse(text).unwrap();
    assert_eq!(m.base.as_ref().unwrap().name, "appendonly.aof.1.base.rdb");
    assert_eq!(m.incrs.len(), 2);
    assert_eq!(m.last_incr_seq(), 2);
    assert_eq!(m.render(), text);
}

#[test]
fn manifests_with_quotes_comments_and_errors() {
    let m = Manifest::parse("# c\nfile \"my file.1.incr.aof\" seq 1 type i\n").unwrap();
    assert_eq!(m.incrs[0].name, "my file.1.incr.aof");
    assert_eq!(m.render(), "file \"my file.1.incr.aof\" seq 1 type i\n");
    assert!(Manifest::parse("").is_err());
    assert!(Manifest::parse("file a seq x type i\n").is_err());
    assert!(Manifest::parse("file a/b seq 1 type i\n").is_err());
    assert!(Manifest::parse("file a seq 2 type i\nfile b seq 1 type i\n").is_err());
}

fn cmds(data: &[u8]) -> Commands {
    read_commands(&Bytes::copy_from_slice(data)).unwrap()
}

#[test]
fn command_streams_read_with_annotations() {
    let c = cmds(
        b"#TS:1\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n",
    );
    assert_eq!(c.commands.len(), 2);
    assert_eq!(&c.commands[1][2][..], b"1");
    assert!(!c.truncated);
}

#[test]
fn a_torn_tail_is_reported_with_the_length_to_keep() {
    let whole = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
    let mut torn = whole.to_vec();
    torn.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$2\r\n1");
    let c = cmds(&torn);
    assert!(c.truncated);
    assert_eq!(c.commands.len(), 1);
    assert_eq!(c.valid_len, whole.len());
}

#[test]
fn an_unfinished_multi_block_is_dropped() {
    let head = b"*2\r\n$3\r\nDEL\r\n$1\r\nx\r\n";
    let mut data = head.to_vec();
    data.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nDEL\r\n$1\r\na\r\n");
    let c = cmds(&data);
    assert!(c.truncated);
    assert_eq!(c.commands.len(), 1);
    assert_eq!(c.valid_len, head.len());
    data.extend_from_slice(b"*1\r\n$4\r\nEXEC\r\n");
    let c = cmds(&data);
    assert!(!c.truncated);
    assert_eq!(c.commands.len(), 4);
    assert_eq!(c.valid_len, data.len());
}

#[test]
fn garbage_is_a_format_error() {
    assert!(read_commands(&Bytes::from_static(
        b"hello world this is not an aof file at all\r\n"
    ))
    .is_err());
    assert!(read_commands(&Bytes::from_static(b"*1\r\n$3\r\nabcXY")).is_err());
}
