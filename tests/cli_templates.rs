//! `papercast preview` loads the thread templates before anything else: a broken user
//! template is a configuration error (exit 2) that names the file and the line.

mod support;

#[test]
fn a_broken_user_template_exits_2_naming_the_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let templates = dir.path().join("my-templates");
    std::fs::create_dir(&templates).expect("mkdir");
    std::fs::write(
        templates.join("paper.txt.j2"),
        "{{ paper.title }}\n{{ summary }\n",
    )
    .expect("write template");
    std::fs::write(
        dir.path().join("papercast.toml"),
        "[compose]\ntemplates_dir = \"my-templates\"\n",
    )
    .expect("write config");
    let out = support::papercast(dir.path(), &["preview", "page.html"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("my-templates/paper.txt.j2"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}
