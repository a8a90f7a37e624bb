//! `chunkdelta completions SHELL` and `chunkdelta man`: shell completions and the man page,
//! generated from the command-line definition itself, so they cannot drift from it.

use chunkdelta::Error;
use clap::{Args, Command};
use clap_complete::Shell;

#[derive(Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub(crate) shell: Shell,
}

/// The completion script of `command` for `shell`. Install it where the shell looks, for
/// example `chunkdelta completions bash > /etc/bash_completion.d/chunkdelta`.
pub(crate) fn completions(shell: Shell, mut command: Command) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "chunkdelta", &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

/// The man page of `command` and, after it, one section per subcommand, in roff: view it with
/// `chunkdelta man | man -l -`, or install it as `man1/chunkdelta.1`.
pub(crate) fn man(command: Command) -> Result<String, Error> {
    let mut page = Vec::new();
    let render = |man: clap_mangen::Man, page: &mut Vec<u8>| {
        man.render(page).map_err(|e| Error::Io { context: "rendering the man page".into(), source: e })
    };
    let subcommands: Vec<Command> = command.get_subcommands().cloned().collect();
    render(clap_mangen::Man::new(command), &mut page)?;
    for subcommand in subcommands.into_iter().filter(|s| s.get_name() != "help") {
        let title = format!("chunkdelta-{}", subcommand.get_name());
        render(clap_mangen::Man::new(subcommand).title(title), &mut page)?;
    }
    Ok(String::from_utf8_lossy(&page).into_owned())
}
