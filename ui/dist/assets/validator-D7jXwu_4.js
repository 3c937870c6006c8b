import{S as i}from"./index-DQAcluOh.js";const n=o=>["",...i].includes(o);export{n as i};
