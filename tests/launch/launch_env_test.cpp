// Launcher variables: torchrun's, Slurm's and Open MPI's, each parsed; partial or contradictory
// sets refused with a message naming the variable.
#include <gtest/gtest.h>

#include "launch/launch_env.h"
#include "core/error.h"

namespace cb::launch {
namespace {

std::string refusal(const EnvironmentMap& env) {
  try {
    parse_launch_environment(env);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(LaunchEnvironment, NoLauncherVariablesMeanOneProcess) {
  EXPECT_FALSE(parse_launch_environment({{"HOME", "/root"}, {"MASTER_PORT", "1234"}}));
}

TEST(LaunchEnvironment, TorchrunVariablesAreParsed) {
  const auto l = parse_launch_environment({{"RANK", "3"},
                                           {"WORLD_SIZE", "8"},
                                           {"LOCAL_RANK", "1"},
                                           {"MASTER_ADDR", "node01"},
                                           {"MASTER_PORT", "29400"}});
  ASSERT_TRUE(l);
  EXPECT_EQ(l->launcher, "torchrun");
  EXPECT_EQ(l->rank, 3);
  EXPECT_EQ(l->world_size, 8);
  EXPECT_EQ(l->local_rank, 1);
  EXPECT_EQ(l->master_addr, "node01");
  EXPECT_EQ(l->master_port, 29400);
}

TEST(LaunchEnvironment, SlurmVariablesUseTheFirstHostOfTheNodeList) {
  const auto l = parse_launch_environment({{"SLURM_PROCID", "5"},
                                           {"SLURM_NTASKS", "8"},
                                           {"SLURM_LOCALID", "1"},
                                           {"SLURM_JOB_NODELIST", "gpu[07-10],cpu01"}});
  ASSERT_TRUE(l);
  EXPECT_EQ(l->launcher, "slurm");
  EXPECT_EQ(l->rank, 5);
  EXPECT_EQ(l->world_size, 8);
  EXPECT_EQ(l->local_rank, 1);
  EXPECT_EQ(l->master_addr, "gpu07");
  EXPECT_EQ(l->master_port, kDefaultMasterPort);
}

TEST(LaunchEnvironment, MasterAddrOverridesTheSlurmNodeList) {
  const auto l = parse_launch_environment({{"SLURM_PROCID", "0"},
                                           {"SLURM_NTASKS", "2"},
                                           {"SLURM_JOB_NODELIST", "a[1-2]"},
                                           {"MASTER_ADDR", "10.0.0.1"},
                                           {"MASTER_PORT", "4000"}});
  ASSERT_TRUE(l);
  EXPECT_EQ(l->master_addr, "10.0.0.1");
  EXPECT_EQ(l->master_port, 4000);
}

TEST(LaunchEnvironment, OpenMpiVariablesAreParsed) {
  const auto l = parse_launch_environment({{"OMPI_COMM_WORLD_RANK", "2"},
                                           {"OMPI_COMM_WORLD_SIZE", "4"},
                                           {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                                           {"MASTER_ADDR", "head"}});
  ASSERT_TRUE(l);
  EXPECT_EQ(l->launcher, "openmpi");
  EXPECT_EQ(l->rank, 2);
  EXPECT_EQ(l->world_size, 4);
  EXPECT_EQ(l->local_rank, 0);
  EXPECT_EQ(l->master_addr, "head");
}

TEST(LaunchEnvironment, TorchrunInsideASlurmJobIsTorchrunsRank) {
  const auto l = parse_launch_environment({{"RANK", "6"},
                                           {"WORLD_SIZE", "8"},
                                           {"MASTER_ADDR", "n1"},
                                           {"SLURM_PROCID", "1"},
                                           {"SLURM_NTASKS", "2"},
                                           {"SLURM_JOB_NODELIST", "n[1-2]"}});
  ASSERT_TRUE(l);
  EXPECT_EQ(l->launcher, "torchrun");
  EXPECT_EQ(l->rank, 6);
}

TEST(LaunchEnvironment, RankWithoutWorldSizeIsRefusedNamingWorldSize) {
  EXPECT_NE(refusal({{"RANK", "0"}, {"MASTER_ADDR", "h"}}).find("WORLD_SIZE is missing"),
            std::string::npos);
}

TEST(LaunchEnvironment, TorchrunWithoutMasterAddrIsRefusedNamingIt) {
  EXPECT_NE(refusal({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).find("MASTER_ADDR is missing"),
            std::string::npos);
}

TEST(LaunchEnvironment, SlurmWithoutNodeListIsRefusedNamingIt) {
  EXPECT_NE(refusal({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}}).find("SLURM_JOB_NODELIST"),
            std::string::npos);
}

TEST(LaunchEnvironment, OpenMpiSizeWithoutRankIsRefusedNamingTheRank) {
  EXPECT_NE(refusal({{"OMPI_COMM_WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}})
                .find("OMPI_COMM_WORLD_RANK is missing"),
            std::string::npos);
}

TEST(LaunchEnvironment, LocalRankAloneIsRefusedNamingIt) {
  EXPECT_NE(refusal({{"LOCAL_RANK", "0"}}).find("LOCAL_RANK"), std::string::npos);
}

TEST(LaunchEnvironment, RankOutsideTheWorldIsAContradiction) {
  const std::string why = refusal({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}});
  EXPECT_NE(why.find("RANK=2"), std::string::npos) << why;
  EXPECT_NE(why.find("contradict"), std::string::npos) << why;
}

TEST(LaunchEnvironment, LocalRankOutsideTheWorldIsAContradiction) {
  EXPECT_NE(refusal({{"SLURM_PROCID", "0"},
                     {"SLURM_NTASKS", "2"},
                     {"SLURM_LOCALID", "5"},
                     {"SLURM_JOB_NODELIST", "n1"}})
                .find("SLURM_LOCALID=5"),
            std::string::npos);
}

TEST(LaunchEnvironment, NonNumericValuesAreRefusedNamingTheVariable) {
  EXPECT_NE(
      refusal({{"RANK", "one"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}).find("RANK='one'"),
      std::string::npos);
  EXPECT_NE(
      refusal({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}})
          .find("MASTER_PORT"),
      std::string::npos);
}

TEST(SlurmNodeList, FirstHostOfPlainAndCompressedLists) {
  EXPECT_EQ(first_slurm_host("node17"), "node17");
  EXPECT_EQ(first_slurm_host("node[01-04],other"), "node01");
  EXPECT_EQ(first_slurm_host("node[3,5-7]"), "node3");
  EXPECT_EQ(first_slurm_host("rack[2-3]-n[007-009],x"), "rack2-n007");
  EXPECT_EQ(first_slurm_host("alpha,beta"), "alpha");
}

TEST(SlurmNodeList, MalformedListsAreRefused) {
  EXPECT_THROW(first_slurm_host("node[01-04"), InputError);
  EXPECT_THROW(first_slurm_host("node[a-b]"), InputError);
  EXPECT_THROW(first_slurm_host(",node1"), InputError);
}

TEST(LaunchEnvironment, LocalLaunchVariablesParseBackToTheSameRank) {
  const auto l = parse_launch_environment(local_launch_variables(1, 2, 40000));
  ASSERT_TRUE(l);
  EXPECT_EQ(l->rank, 1);
  EXPECT_EQ(l->world_size, 2);
  EXPECT_EQ(l->master_addr, "127.0.0.1");
  EXPECT_EQ(l->master_port, 40000);
}

}  // namespace
}  // namespace cb::launch
