// Optimizer checkpoints: an OptimizerStateDict in a safetensors file. The state tensors are stored
// as they are; the group hyperparameters, all text already (OptimizerOptions::to_map), go in the
// metadata as a JSON array of string-to-string objects.

#include <utility>

#include "bg/nn/serialize.h"
#include "serialize/json.h"

namespace bg {

namespace json = detail::json;

namespace {

const std::string kGroupsKey = detail::concat(kOptimizerKey, ".param_groups");

json::Value encode_groups(const std::vector<std::map<std::string, std::string>>& groups) {
  std::vector<json::Value> encoded;
  for (const auto& group : groups) {
    std::vector<json::Member> members;
    for (const auto& [key, value] : group) members.push_back({key, json::Value::of_string(value)});
    encoded.push_back(json::Value::of_object(std::move(members)));
  }
  return json::Value::of_array(std::move(encoded));
}

std::vector<std::map<std::string, std::string>> decode_groups(const std::string& text,
                                                              const std::string& where) {
  const json::Value root = json::parse(text, where);
  BG_CHECK(root.kind == json::Value::Kind::Array, "load", where, " is ", root.kind_name(),
           ", not an array of parameter groups");
  std::vector<std::map<std::string, std::string>> groups;
  for (const json::Value& group : root.array) {
    BG_CHECK(group.kind == json::Value::Kind::Object, "load", where, ": a parameter group is ",
             group.kind_name(), ", not an object");
    std::map<std::string, std::string>& decoded = groups.emplace_back();
    for (const json::Member& member : group.object) {
      BG_CHECK(member.value.kind == json::Value::Kind::String, "load", where, ": the value of '",
               member.key, "' is ", member.value.kind_name(), ", not a string");
      decoded[member.key] = member.value.string;
    }
  }
  return groups;
}

}  // namespace

void save(const optim::Optimizer& optimizer, const std::filesystem::path& path,
          const std::map<std::string, std::string>& metadata) {
  const optim::OptimizerStateDict state = optimizer.state_dict();
  std::map<std::string, std::string> all = metadata;
  all[kOptimizerKey] = optimizer.name();
  all[kGroupsKey] = json::write(encode_groups(state.param_groups));
  save_tensors(path, state.state, all);
}

std::map<std::string, std::string> load(optim::Optimizer& optimizer,
                                        const std::filesystem::path& path) {
  TensorFile file = load_tensors(path);
  const std::string where = detail::concat("'", path.string(), "'");
  const auto name = file.metadata.find(kOptimizerKey);
  const auto groups = file.metadata.find(kGroupsKey);
  BG_CHECK(name != file.metadata.end() && groups != file.metadata.end(), "load", where,
           " is not an optimizer checkpoint (its metadata lacks '", kOptimizerKey, "')");
  BG_CHECK(name->second == optimizer.name(), "load", where, " holds the state of ", name->second,
           ", not of ", optimizer.name());
  optim::OptimizerStateDict state{
      std::move(file.tensors),
      decode_groups(groups->second, detail::concat(where, ": '", kGroupsKey, "'"))};
  try {
    optimizer.load_state_dict(state);
  } catch (const Error& e) {
    throw Error(detail::concat("load: ", where, ": ", e.what()));
  }
  file.metadata.erase(kOptimizerKey);
  file.metadata.erase(kGroupsKey);
  return std::move(file.metadata);
}

}  // namespace bg
