//! The layered settings sources every binary reads, in the order the README documents:
//! compiled-in `config/base.toml`, `$APP_CONFIG_DIR/base.toml`, `$APP_CONFIG_DIR/<APP_ENV>.toml`,
//! `.env`, then the environment. Keys are flat and lower-case, so the Flask names
//! (`DATABASE_URL`, `JWT_SECRET`, …) map onto them unchanged.

use std::collections::HashMap;
use std::path::PathBuf;

use config::builder::DefaultState;
use config::{ConfigBuilder, ConfigError, Environment, File, FileFormat};

/// The defaults, compiled in so that a binary run from any directory works with no files at all.
const BASE_SETTINGS: &str = include_str!("../../config/base.toml");

/// The database used when nothing names one: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://patient-auth.db";

/// Where settings are read from; tests replace the process environment with a map of their own.
#[derive(Debug, Clone)]
pub struct SettingsSources {
    /// Folder holding `base.toml` and `<APP_ENV>.toml` overrides (may be missing).
    pub config_dir: PathBuf,
    /// The `.env` file to read, if any (a missing file is not an error).
    pub dotenv_file: Option<PathBuf>,
    /// The environment variables; `None` reads the process environment.
    pub environment: Option<HashMap<String, String>>,
}

impl SettingsSources {
    /// The sources of a normal run: `APP_CONFIG_DIR` (default `./config`), `./.env`, the process environment.
    pub fn from_process() -> Self {
        let config_dir = std::env::var_os("APP_CONFIG_DIR")
            .map_or_else(|| PathBuf::from("config"), PathBuf::from);
        Self {
            config_dir,
            dotenv_file: Some(PathBuf::from(".env")),
            environment: None,
        }
    }

    /// Sources made only of the compiled-in defaults and the given variables (for tests and tools).
    pub fn only(environment: HashMap<String, String>) -> Self {
        Self {
            config_dir: PathBuf::from("/nonexistent-patient-auth-config"),
            dotenv_file: None,
            environment: Some(environment),
        }
    }
}

/// Builds the layered configuration; the caller deserialises what it needs from it.
pub fn settings_sources(
    sources: &SettingsSources,
) -> Result<ConfigBuilder<DefaultState>, ConfigError> {
    let dotenv = read_dotenv(sources)?;
    let environment = sources
        .environment
        .clone()
        .unwrap_or_else(|| std::env::vars().collect());
    let app_env = lookup(&environment, "APP_ENV")
        .or_else(|| lookup(&dotenv, "APP_ENV"))
        .unwrap_or_else(|| "development".to_owned())
        .to_ascii_lowercase();
    if !app_env
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ConfigError::Message(
            "APP_ENV may only hold letters, digits, `-` and `_`".into(),
        ));
    }

    config::Config::builder()
        .add_source(File::from_str(BASE_SETTINGS, FileFormat::Toml))
        .add_source(File::from(sources.config_dir.join("base.toml")).required(false))
        .add_source(File::from(sources.config_dir.join(format!("{app_env}.toml"))).required(false))
        .add_source(Environment::default().source(Some(dotenv)))
        .add_source(Environment::default().source(Some(environment)))
        .set_override("app_env", app_env)
}

fn lookup(map: &HashMap<String, String>, key: &str) -> Option<String> {
    map.get(key).filter(|v| !v.trim().is_empty()).cloned()
}

fn read_dotenv(sources: &SettingsSources) -> Result<HashMap<String, String>, ConfigError> {
    let Some(path) = &sources.dotenv_file else {
        return Ok(HashMap::new());
    };
    if !path.exists() {
        return Ok(HashMap::new());
    }
    dotenvy::from_path_iter(path)
        .and_then(|iter| iter.collect::<Result<HashMap<_, _>, _>>())
        // dotenvy's messages quote the offending line, which may hold a secret: keep only the position.
        .map_err(|e| {
            ConfigError::Message(format!(
                "cannot read {}: {}",
                path.display(),
                describe_dotenv_error(&e)
            ))
        })
}

fn describe_dotenv_error(error: &dotenvy::Error) -> String {
    match error {
        dotenvy::Error::LineParse(_, index) => format!("syntax error at character {index}"),
        dotenvy::Error::Io(e) => e.kind().to_string(),
        _ => "invalid file".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn get(sources: &SettingsSources, key: &str) -> String {
        settings_sources(sources)
            .and_then(|b| b.build())
            .and_then(|c| c.get_string(key))
            .expect("setting present")
    }

    #[test]
    fn compiled_defaults_apply_with_nothing_set() {
        let sources = SettingsSources::only(HashMap::new());
        assert_eq!(get(&sources, "database_url"), DEFAULT_DATABASE_URL);
        assert_eq!(get(&sources, "port"), "5000");
        assert_eq!(get(&sources, "app_env"), "development");
    }

    #[test]
    fn environment_beats_dotenv_beats_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("base.toml"),
            "port = 6000\njwt_exp_minutes = 5\nhost = \"10.0.0.1\"\n",
        )
        .expect("write");
        let dotenv = dir.path().join(".env");
        let mut file = std::fs::File::create(&dotenv).expect("create");
        writeln!(file, "PORT=7000\nJWT_EXP_MINUTES=15").expect("write");
        let env = HashMap::from([("PORT".to_owned(), "8000".to_owned())]);
        let sources = SettingsSources {
            config_dir: dir.path().to_owned(),
            dotenv_file: Some(dotenv),
            environment: Some(env),
        };
        assert_eq!(get(&sources, "port"), "8000");
        assert_eq!(get(&sources, "jwt_exp_minutes"), "15");
        assert_eq!(get(&sources, "host"), "10.0.0.1");
    }

    #[test]
    fn app_env_selects_the_environment_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("staging.toml"), "port = 5555\n").expect("write");
        let env = HashMap::from([("APP_ENV".to_owned(), "Staging".to_owned())]);
        let sources = SettingsSources {
            config_dir: dir.path().to_owned(),
            dotenv_file: None,
            environment: Some(env),
        };
        assert_eq!(get(&sources, "port"), "5555");
        assert_eq!(get(&sources, "app_env"), "staging");
    }

    #[test]
    fn app_env_cannot_walk_out_of_the_config_folder() {
        let env = HashMap::from([("APP_ENV".to_owned(), "../../etc/passwd".to_owned())]);
        assert!(settings_sources(&SettingsSources::only(env)).is_err());
    }

    #[test]
    fn a_broken_dotenv_is_reported_without_its_contents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dotenv = dir.path().join(".env");
        std::fs::write(&dotenv, "JWT_SECRET='never-closed-secret-value\n").expect("write");
        let sources = SettingsSources {
            config_dir: dir.path().to_owned(),
            dotenv_file: Some(dotenv),
            environment: Some(HashMap::new()),
        };
        let err = settings_sources(&sources)
            .expect_err("broken file")
            .to_string();
        assert!(!err.contains("never-closed-secret-value"), "{err}");
    }
}
