// Go-style flags on top of CLI11 (CLI11 2.1 only knows "--long", Go accepts "-long" and "--long").
#include <CLI/CLI.hpp>
#include <cstring>
#include <iostream>

#include "cli/cli.h"

namespace litestream::cli {

struct FlagSet::Impl {
  std::string command;
  std::string usage;
  CLI::App app;
  std::map<std::string, bool*> bools;     // name -> target
  std::map<std::string, bool> has_value;  // every non-bool flag
};

FlagSet::FlagSet(std::string command, std::string usage) : impl_(std::make_unique<Impl>()) {
  impl_->command = std::move(command);
  impl_->usage = std::move(usage);
  impl_->app.set_help_flag();  // -h/-help/--help are handled before CLI11 sees anything
  impl_->app.allow_extras(false);
}

FlagSet::~FlagSet() = default;

namespace {

std::string OptionName(const std::string& name) { return name.size() == 1 ? "-" + name : "--" + name; }

bool ParseGoBool(const std::string& s, bool* out) {
  static const char* const kTrue[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char* const kFalse[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (const char* t : kTrue) {
    if (s == t) return *out = true, true;
  }
  for (const char* f : kFalse) {
    if (s == f) return *out = false, true;
  }
  return false;
}

}  // namespace

void FlagSet::String(const std::string& name, std::string* out) {
  impl_->app.add_option(OptionName(name), *out)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  impl_->has_value[name] = true;
}

void FlagSet::Int(const std::string& name, int* out) {
  impl_->app.add_option(OptionName(name), *out)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  impl_->has_value[name] = true;
}

void FlagSet::Bool(const std::string& name, bool* out) { impl_->bools[name] = out; }

FlagSet::Outcome FlagSet::Parse(const Args& args) {
  std::vector<std::string> cli_args;  // canonical "--name value" pairs for CLI11
  size_t i = 0;
  for (; i < args.size(); i++) {
    const std::string& t = args[i];
    if (t == "--") {
      i++;
      break;
    }
    if (t.size() < 2 || t[0] != '-') break;  // first positional argument ("-" alone is one too)
    std::string body = t.substr(t[1] == '-' ? 2 : 1);
    if (body.empty() || body[0] == '-' || body[0] == '=') {
      PrintError("bad flag syntax: " + t);
      return Outcome::kError;
    }
    std::string name = body.substr(0, body.find('='));
    bool has_inline = body.find('=') != std::string::npos;
    std::string value = has_inline ? body.substr(body.find('=') + 1) : "";
    if (name == "h" || name == "help") {
      std::fputs(impl_->usage.c_str(), stdout);
      return Outcome::kHelp;
    }
    if (auto b = impl_->bools.find(name); b != impl_->bools.end()) {
      bool v = true;
      if (has_inline && !ParseGoBool(value, &v)) {
        PrintError("invalid boolean value \"" + value + "\" for -" + name);
        return Outcome::kError;
      }
      *b->second = v;
      continue;
    }
    if (!impl_->has_value.count(name)) {
      PrintError("flag provided but not defined: -" + name);
      return Outcome::kError;
    }
    if (!has_inline) {
      if (i + 1 >= args.size()) {
        PrintError("flag needs an argument: -" + name);
        return Outcome::kError;
      }
      value = args[++i];
    }
    cli_args.push_back(OptionName(name));
    cli_args.push_back(value);
  }
  positional_.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  try {
    std::vector<std::string> reversed(cli_args.rbegin(), cli_args.rend());  // CLI11 pops from the back
    impl_->app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    PrintError(std::string("invalid flag value: ") + e.what());
    return Outcome::kError;
  }
  return Outcome::kOk;
}

}  // namespace litestream::cli
