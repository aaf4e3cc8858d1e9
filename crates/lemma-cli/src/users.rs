//! `lemma users ...`: people who sign in to the dashboard, and their role in each project.
//! Administration on the store itself, like `lemma keys`.

use std::io::BufRead;

use clap::Subcommand;
use lemma_store::users::hash_password;
use lemma_store::Role;

use crate::admin::{find_project, open};
use crate::render::{time_ago, Table};
use crate::DataDir;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create a user; the password is read from standard input (its first line).
    #[command(group(clap::ArgGroup::new("password").required(true)))]
    Create {
        name: String,
        /// Read the password from standard input (so it stays out of shell history):
        /// `printf '%s' "$PASSWORD" | lemma users create ada --password-stdin`.
        #[arg(long, group = "password")]
        password_stdin: bool,
        /// No password: the user signs in through OpenID Connect only (`lemma serve
        /// --oidc-issuer`), as the name the provider gives (by default their email address).
        #[arg(long, group = "password")]
        no_password: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// List users with their projects and roles.
    List {
        #[command(flatten)]
        data: DataDir,
    },
    /// Set a user's password (from standard input); their sessions end.
    Password {
        name: String,
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Delete a user, with their roles and sessions.
    Delete {
        name: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Give a user a role in a project: viewer (reads), member (also sends feedback and
    /// deletes runs) or admin (also changes settings, keys and members).
    Grant {
        name: String,
        #[arg(long)]
        project: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[command(flatten)]
        data: DataDir,
    },
    /// Take a user out of a project.
    Revoke {
        name: String,
        #[arg(long)]
        project: String,
        #[command(flatten)]
        data: DataDir,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| "not a role; choose from viewer, member, admin".to_string())
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub fn run(cmd: UsersCommand) -> anyhow::Result<()> {
    match cmd {
        UsersCommand::Create {
            name,
            no_password,
            data,
            ..
        } => {
            // An empty hash matches no password (`verify_password`).
            let hash = if no_password {
                String::new()
            } else {
                hash_password(&read_password()?)?
            };
            let (store, rt) = open(&data)?;
            let user = rt.block_on(store.create_user(&name, &hash))?;
            println!(
                "Created user {:?}. Give them a project: lemma users grant {} --project NAME --role viewer{}",
                user.name,
                user.name,
                data.flags()
            );
        }
        UsersCommand::List { data } => {
            let (store, rt) = open(&data)?;
            let mut t = Table::new(&["USER", "CREATED", "PROJECTS"]);
            for user in rt.block_on(store.list_users())? {
                let roles: Vec<String> = rt
                    .block_on(store.memberships(&user.name))?
                    .into_iter()
                    .map(|m| format!("{} ({})", m.project.name, m.role.name()))
                    .collect();
                t.row(vec![
                    user.name,
                    time_ago(user.created_at_unix_nano),
                    roles.join(", "),
                ]);
            }
            t.print();
        }
        UsersCommand::Password { name, data, .. } => {
            let hash = hash_password(&read_password()?)?;
            let (store, rt) = open(&data)?;
            if !rt.block_on(store.set_password(&name, &hash))? {
                anyhow::bail!("no user {name:?} (see `lemma users list{}`)", data.flags());
            }
            println!("Set the password of {name:?}; their sessions have ended.");
        }
        UsersCommand::Delete { name, data } => {
            let (store, rt) = open(&data)?;
            if !rt.block_on(store.delete_user(&name))? {
                anyhow::bail!("no user {name:?} (see `lemma users list{}`)", data.flags());
            }
            println!("Deleted user {name:?}.");
        }
        UsersCommand::Grant {
            name,
            project,
            role,
            data,
        } => {
            let (store, rt) = open(&data)?;
            let p = find_project(store.as_ref(), &rt, &project)?;
            rt.block_on(store.set_role(&name, p.id, Some(role)))?;
            println!("{name:?} is now a {} of project {project:?}.", role.name());
        }
        UsersCommand::Revoke {
            name,
            project,
            data,
        } => {
            let (store, rt) = open(&data)?;
            let p = find_project(store.as_ref(), &rt, &project)?;
            rt.block_on(store.set_role(&name, p.id, None))?;
            println!("{name:?} is no longer a member of project {project:?}.");
        }
    }
    Ok(())
}
